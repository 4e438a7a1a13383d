<?php
// multipart/form-data: moves the uploaded file "doc" to $_POST['dest'] with
// move_uploaded_file() and reports what PHP saw.
header('Content-Type: application/json');
$f = $_FILES['doc'] ?? null;
$out = ['files' => $_FILES, 'post' => $_POST, 'moved' => false];
if ($f && $f['error'] === UPLOAD_ERR_OK) {
    $out['is_uploaded_file'] = is_uploaded_file($f['tmp_name']);
    $out['tmp_sha256'] = hash_file('sha256', $f['tmp_name']);
    $dest = $_POST['dest'];
    $out['moved'] = move_uploaded_file($f['tmp_name'], $dest);
    $out['dest_sha256'] = $out['moved'] ? hash_file('sha256', $dest) : null;
    $out['tmp_still_exists'] = file_exists($f['tmp_name']);
}
echo json_encode($out);
