<?php
// imagick renders a thumbnail: a ?w x ?h gradient scaled to a quarter, as PNG.
$w = (int)($_GET['w'] ?? 400);
$h = (int)($_GET['h'] ?? 200);
$im = new Imagick();
$im->newPseudoImage($w, $h, 'gradient:red-blue');
$im->thumbnailImage(intdiv($w, 4), intdiv($h, 4));
$im->setImageFormat('png');
header('Content-Type: image/png');
echo $im->getImageBlob();
