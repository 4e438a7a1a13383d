<?php
switch ($_GET['mode'] ?? '') {
case 'plain': header('Location: /target?x=1'); break;
case '301': header('Location: http://example.org/moved', true, 301); break;
case 'code': http_response_code(307); header('Location: /t'); break;
case 'created': header('HTTP/1.1 201 Created'); header('Location: /new'); break;
case 'refresh': header('Refresh: 0; url=/x'); break;
}
echo "redirecting\n";
