<?php
header('Content-Type: text/plain');
echo "before finish\n";
var_dump(fastcgi_finish_request());
echo "after finish\n";
error_log('logged after finish');
