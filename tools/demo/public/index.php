<?php
// The tfpm demo page: what is serving this request.
$info = function_exists('tfpm_info') ? tfpm_info() : [];
$counter = __DIR__ . '/../var/visits';
@mkdir(dirname($counter));
$visits = (int)@file_get_contents($counter) + 1;
file_put_contents($counter, (string)$visits, LOCK_EX);
$rows = [
    'Server' => 'tfpm ' . ($info['version'] ?? '?'),
    'PHP' => PHP_VERSION . ' (' . php_sapi_name() . ')',
    'Thread safety (ZTS)' => PHP_ZTS ? 'enabled' : 'disabled',
    'Zend max-execution timers' => !empty($info['max_execution_timers']) ? 'enabled' : 'disabled',
    'Worker process / thread' => ($info['pid'] ?? getmypid()) . ' / ' . ($info['thread_id'] ?? '?'),
    'OPcache' => function_exists('opcache_get_status') && @opcache_get_status(false) ? 'on' : 'off',
    'Visits (shared counter)' => $visits,
    'Extensions' => implode(', ', get_loaded_extensions()),
];
?><!doctype html>
<html><head><meta charset="utf-8"><title>tfpm demo</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}
th{text-align:left;padding-right:1rem;vertical-align:top;white-space:nowrap}td{word-break:break-word}</style>
</head><body>
<h1>tfpm is serving PHP</h1>
<p>nginx &rarr; FastCGI &rarr; tfpm &rarr; a ZTS PHP interpreter on its own thread.</p>
<table>
<?php foreach ($rows as $k => $v): ?>
<tr><th><?= htmlspecialchars($k) ?></th><td><?= htmlspecialchars((string)$v) ?></td></tr>
<?php endforeach ?>
</table>
<form method="post"><input name="name" placeholder="your name"> <button>Say hello</button></form>
<?php if (isset($_POST['name'])): ?>
<p>Hello, <?= htmlspecialchars($_POST['name']) ?>!</p>
<?php endif ?>
</body></html>
