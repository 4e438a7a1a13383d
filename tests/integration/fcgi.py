"""A small FastCGI client for the integration tests.

Independent of tfpm's C++ codec on purpose: the tests check our server
against the FastCGI spec as another implementation reads it.
"""
import socket
import struct

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
RESPONDER = 1
AUTHORIZER = 2
FILTER = 3
KEEP_CONN = 1


def record(rtype, request_id, content=b""):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", 1, rtype, request_id, len(content), pad) + content + b"\0" * pad


def stream(rtype, request_id, data):
    out = b""
    for i in range(0, len(data), 65535):
        out += record(rtype, request_id, data[i:i + 65535])
    return out + record(rtype, request_id)


def encode_pair(name, value):
    name = name.encode() if isinstance(name, str) else name
    value = value.encode() if isinstance(value, str) else value
    out = b""
    for n in (len(name), len(value)):
        out += struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def decode_pairs(data):
    pairs, i = {}, 0
    while i < len(data):
        lens = []
        for _ in range(2):
            if data[i] & 0x80:
                lens.append(struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF)
                i += 4
            else:
                lens.append(data[i])
                i += 1
        name = data[i:i + lens[0]]
        i += lens[0]
        pairs[name.decode()] = data[i:i + lens[1]].decode()
        i += lens[1]
    return pairs


class Response:
    def __init__(self, stdout, stderr, app_status, protocol_status):
        self.raw = stdout
        self.stderr = stderr
        self.app_status = app_status
        self.protocol_status = protocol_status
        head, sep, body = stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = stdout.partition(b"\n\n")
        self.headers = {}
        self.header_list = []
        self.status = 200
        for line in head.decode("latin-1").splitlines():
            if ":" not in line:
                continue
            k, v = line.split(":", 1)
            k, v = k.strip(), v.strip()
            if k.lower() == "status":
                self.status = int(v.split()[0])
                continue
            self.header_list.append((k, v))
            self.headers[k.lower()] = v
        self.body = body

    def __repr__(self):
        return f"<Response {self.status} {self.body[:80]!r}>"


def connect(address, timeout=30):
    if isinstance(address, str) and address.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(address)
    else:
        host, port = address
        s = socket.create_connection((host, port), timeout=timeout)
    return s


def read_response(sock, request_id=1):
    buf = b""
    out, err = [], []

    def need(n):
        # Never reads past the current record: with pipelined requests the
        # next response's bytes must stay in the socket for the next call.
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(min(262144, n - len(buf)))
            if not chunk:
                raise ConnectionError("connection closed before END_REQUEST")
            buf += chunk

    while True:
        need(8)
        _, rtype, rid, clen, plen = struct.unpack(">BBHHBx", buf[:8])
        need(8 + clen + plen)
        content = buf[8:8 + clen]
        buf = buf[8 + clen + plen:]
        if rtype == STDOUT:
            out.append(content)
        elif rtype == STDERR:
            err.append(content)
        elif rtype == END_REQUEST:
            app_status, proto = struct.unpack(">IB3x", content)
            assert rid == request_id, f"END_REQUEST for id {rid}, expected {request_id}"
            return Response(b"".join(out), b"".join(err), app_status, proto)
        elif rtype in (GET_VALUES_RESULT, UNKNOWN_TYPE):
            continue
        else:
            raise AssertionError(f"unexpected record type {rtype}")


def build_request(params, body=b"", request_id=1, keep_conn=False, role=None):
    role = RESPONDER if role is None else role
    data = record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", role, KEEP_CONN if keep_conn else 0))
    data += stream(PARAMS, request_id, b"".join(encode_pair(k, v) for k, v in params.items()))
    data += stream(STDIN, request_id, body)
    return data


def request(address, script, query="", method="GET", body=b"", headers=None, params=None,
            keep_conn=False, sock=None, timeout=60, role=None):
    """Sends one request; returns a Response. With `sock`, reuses that connection.
    `params` adds or overrides parameters; a value of None removes one."""
    p = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "tfpm-tests",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "REQUEST_METHOD": method,
        "SCRIPT_FILENAME": script,
        "SCRIPT_NAME": "/" + script.rsplit("/", 1)[-1],
        "DOCUMENT_ROOT": script.rsplit("/", 1)[0],
        "REQUEST_URI": "/" + script.rsplit("/", 1)[-1] + ("?" + query if query else ""),
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
    }
    for k, v in (headers or {}).items():
        key = k.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            p["CONTENT_TYPE"] = v
        else:
            p["HTTP_" + key] = v
    for k, v in (params or {}).items():
        if v is None:
            p.pop(k, None)  # None removes a default parameter
        else:
            p[k] = v
    own = sock is None
    s = sock or connect(address, timeout)
    try:
        s.sendall(build_request(p, body, keep_conn=keep_conn, role=role))
        return read_response(s)
    finally:
        if own:
            s.close()


def get_values(address, names=("FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS")):
    s = connect(address)
    try:
        s.sendall(record(GET_VALUES, 0, b"".join(encode_pair(n, "") for n in names)))
        buf = b""
        while len(buf) < 8:
            buf += s.recv(4096)
        _, rtype, _, clen, plen = struct.unpack(">BBHHBx", buf[:8])
        while len(buf) < 8 + clen + plen:
            buf += s.recv(4096)
        assert rtype == GET_VALUES_RESULT, rtype
        return decode_pairs(buf[8:8 + clen])
    finally:
        s.close()


def read_records(sock, stop, timeout):
    """Reads records until stop(records) is true or EOF (a reset counts as
    EOF); returns ([(type, request_id, content)], eof)."""
    sock.settimeout(timeout)
    buf, records = b"", []
    while not stop(records):
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return records, True
        if not chunk:
            return records, True
        buf += chunk
        while len(buf) >= 8:
            _, rtype, rid, clen, plen = struct.unpack(">BBHHBx", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            records.append((rtype, rid, buf[8:8 + clen]))
            buf = buf[8 + clen + plen:]
    return records, False
