<?php
// Scenario "json": a ~1 KB JSON API response built from a small data set,
// deterministic so its SHA-256 is known.
header('Content-Type: application/json');
$items = [];
for ($i = 1; $i <= 11; $i++) {
    $items[] = [
        'id' => $i,
        'name' => "item-$i",
        'price' => round($i * 3.75, 2),
        'tags' => ['bench', 'fastcgi', $i % 2 ? 'odd' : 'even'],
        'in_stock' => $i % 3 !== 0,
    ];
}
echo json_encode([
    'status' => 'ok',
    'page' => 1,
    'per_page' => count($items),
    'total' => 120,
    'items' => $items,
], JSON_UNESCAPED_SLASHES), "\n";
