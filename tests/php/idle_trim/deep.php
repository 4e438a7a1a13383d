<?php
// Idle memory trimming fixture, the thread's stack
// (tests/integration/test_idle_trim.py):
//   ?depth=N  nests N arrays and serialize()s them: PHP's serializer
//             recurses in C, about 1.5 KiB of the thread's stack per
//             level, and the stack pages stay resident after the request.
// Answers {"pid":..., "depth":..., "length":...} (the serialized length,
// checked against what N levels give).
header('Content-Type: application/json');
$depth = (int)($_GET['depth'] ?? 0);
$a = [];
for ($i = 0; $i < $depth; $i++) {
    $a = [$a];
}
$s = serialize($a);
// "a:1:{i:0;" per level, then "a:0:{}", then "}" per level.
$expected = $depth * (strlen('a:1:{i:0;') + 1) + strlen('a:0:{}');
echo json_encode(['pid' => getmypid(), 'depth' => $depth,
                  'length' => strlen($s) === $expected ? strlen($s) : -strlen($s)]);
