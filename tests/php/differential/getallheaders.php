<?php
header('Content-Type: text/plain');
foreach (getallheaders() as $k => $v) echo $k, ': ', $v, "\n";
echo "--- apache_request_headers\n";
echo json_encode(apache_request_headers()), "\n";
