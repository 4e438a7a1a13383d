<?php
header('Content-Type: text/plain');
echo php_sapi_name(), ' ', PHP_SAPI, "\n";
echo 'fastcgi_finish_request exists=', var_export(function_exists('fastcgi_finish_request'), true), "\n";
echo 'cgi.fix_pathinfo=', var_export(ini_get('cgi.fix_pathinfo'), true), "\n";
echo 'cgi.discard_path=', var_export(ini_get('cgi.discard_path'), true), "\n";
echo 'fastcgi.logging=', var_export(ini_get('fastcgi.logging'), true), "\n";
