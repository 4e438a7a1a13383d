<?php
// Scenario "html": a ~100 KB HTML page rendered from PHP arrays with
// escaping, deterministic so its SHA-256 is known.
header('Content-Type: text/html; charset=UTF-8');
$rows = [];
for ($i = 0; $i < 890; $i++) {
    $rows[] = [
        'id' => $i,
        'title' => "Row <$i> & \"friends\"",
        'value' => sprintf('%08.3f', $i * 1.618),
        'ok' => $i % 7 !== 0,
    ];
}
?>
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Benchmark page</title></head>
<body>
<h1>Benchmark page</h1>
<table>
<thead><tr><th>#</th><th>Title</th><th>Value</th><th>State</th></tr></thead>
<tbody>
<?php foreach ($rows as $r): ?>
<tr class="<?= $r['ok'] ? 'ok' : 'warn' ?>"><td><?= $r['id'] ?></td><td><?= htmlspecialchars($r['title']) ?></td><td><?= $r['value'] ?></td><td><?= $r['ok'] ? 'fine' : 'check' ?></td></tr>
<?php endforeach; ?>
</tbody>
</table>
<p>End of page.</p>
</body>
</html>
