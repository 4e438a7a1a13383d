<?php
// ini_get() of the keys named in ?k=a,b,c, plus php_ini_loaded_file() and
// php_ini_scanned_files(), as JSON.
header('Content-Type: application/json');
$out = [];
foreach (explode(',', $_GET['k'] ?? '') as $k) {
    if ($k !== '') $out[$k] = ini_get($k);
}
$out['@loaded'] = php_ini_loaded_file();
$out['@scanned'] = php_ini_scanned_files();
$out['@extensions'] = get_loaded_extensions();
echo json_encode($out);
