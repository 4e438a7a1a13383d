<?php
require __DIR__ . '/../../paths.php';
