<?php
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
header('Content-Type: text/plain');
echo 'n=', $_SESSION['n'], "\n";
echo 'id length=', strlen(session_id()), "\n";
echo 'name=', session_name(), "\n";
