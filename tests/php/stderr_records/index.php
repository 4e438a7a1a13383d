<?php
// Two messages, output, a third: php-fpm sends the first two in one STDERR
// record ("...first...; PHP message: ...second..."), then STDOUT, then
// "; PHP message: ...third..." in another STDERR record.
trigger_error("first", E_USER_WARNING);
trigger_error("second", E_USER_WARNING);
echo "body\n";
if (ob_get_level()) ob_flush();  // output_buffering may hold it
flush();
trigger_error("third", E_USER_WARNING);
