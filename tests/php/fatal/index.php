<?php
// A fatal error (undefined function). With display_errors=0 PHP answers 500.
// ?kind=exception: an uncaught exception instead.
echo "before the error\n";
if (($_GET['kind'] ?? '') === 'exception') {
    throw new RuntimeException('tfpm test uncaught exception');
}
tfpm_test_this_function_does_not_exist();
echo "never printed\n";
