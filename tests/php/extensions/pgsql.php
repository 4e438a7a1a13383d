<?php
// pdo_pgsql against the test's PostgreSQL: ?host=SOCKET_DIR&name=NAME
// inserts a row and returns the rows of that name.
header('Content-Type: application/json');
$db = new PDO('pgsql:host=' . $_GET['host'] . ';dbname=postgres', 'postgres', null,
              [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$db->exec('CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY, name text NOT NULL)');
$ins = $db->prepare('INSERT INTO visits (name) VALUES (?) RETURNING id');
$ins->execute([$_GET['name']]);
$id = $ins->fetchColumn();
$sel = $db->prepare('SELECT count(*) FROM visits WHERE name = ?');
$sel->execute([$_GET['name']]);
echo json_encode(['id' => (int)$id, 'count' => (int)$sel->fetchColumn(),
                  'server' => $db->getAttribute(PDO::ATTR_SERVER_VERSION)]);
