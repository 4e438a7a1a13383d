<?php
header('Content-Type: text/plain');
echo 'POST=', json_encode($_POST), "\n";
ksort($_FILES);
foreach ($_FILES as $field => $f) {
    if (is_array($f['name'])) { echo "$field: array ", json_encode($f['name']), ' errors ', json_encode($f['error']), "\n"; continue; }
    echo "$field: name=", $f['name'], ' full_path=', $f['full_path'] ?? '-', ' type=', $f['type'], ' size=', $f['size'],
         ' error=', $f['error'];
    if ($f['error'] === UPLOAD_ERR_OK) {
        echo ' uploaded=', var_export(is_uploaded_file($f['tmp_name']), true),
             ' md5=', md5_file($f['tmp_name']), ' tmp=', $f['tmp_name'];
    }
    echo "\n";
}
