<?php
// 5000 small echo calls with no output buffering: many tiny SAPI writes.
ini_set('output_buffering', '0');
for ($i = 0; $i < 5000; $i++) {
    echo "line $i\n";
}
