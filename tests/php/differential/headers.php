<?php
switch ($_GET['mode'] ?? '') {
case 'replace': header('X-A: 1'); header('X-A: 2'); header('X-B: 1'); header('X-B: 2', false); break;
case 'status_header': header('Status: 404 Not Here'); break;
case 'code': http_response_code(404); break;
case 'line': header('HTTP/1.0 418 I am a teapot'); break;
case 'unknown': http_response_code(599); break;
case 'notmodified': http_response_code(304); header('Content-Type: text/html'); break;
case 'remove': header('X-Gone: 1'); header_remove('X-Gone'); header_remove('X-Powered-By'); break;
case 'nocontent': http_response_code(204); header('Content-Type: text/plain'); break;
case 'after_output':
    echo "out\n"; flush(); header('X-Late: 1'); echo var_export(headers_sent(), true), "\n"; break;
case 'list': header('X-One: 1'); header('Content-Type: text/x-test; charset=iso-8859-1'); echo json_encode(headers_list()), "\n"; break;
case 'default_charset': ini_set('default_charset', 'iso-8859-1'); break;
case 'empty_ct': header('Content-Type:'); break;
case 'line_200': header('HTTP/1.1 200 Fine Thanks'); break;
case 'status_500': header('Status: 500'); break;
case 'injection': header("X-A: a\r\nX-B: b"); break;
case 'no_colon': header('Bogus'); break;
case 'content_length': header('Content-Length: 5'); break;
case 'code_then_line': http_response_code(201); header('HTTP/1.1 404 Gone Away'); break;
case 'location_then_code': header('Location: /x'); http_response_code(200); break;
case 'many': for ($i = 0; $i < 200; $i++) header("X-H$i: " . str_repeat('v', 100)); break;
}
echo "body\n";
