<?php
// Takes getallheaders(), then does allocation-heavy work (so freed request
// memory would be reused), then prints the array it took at the start.
$headers = getallheaders();
$junk = [];
for ($i = 0; $i < 2000; $i++) {
    $junk[] = str_repeat(chr(65 + $i % 26), 100 + $i % 300);
}
shuffle($junk);
$junk = implode('', $junk);
$copy = apache_request_headers();
usleep(random_int(0, 20000));
header('Content-Type: application/json');
echo json_encode(['headers' => $headers, 'same_again' => $copy == $headers, 'junk' => strlen($junk)]);
