<?php
// A worker script (mode: worker) whose process dies on SIGKILL (a crash
// that no sanitizer turns into a report, unlike SIGSEGV) about 50 ms after
// it boots while the file named by TFPM_TEST_CRASH_FLAG (the pool's env)
// exists; without the file it serves requests. Each PHP thread
// boots it right after the process said "ready", so this is a worker that
// dies shortly after it became ready. tests/integration/test_crash_loop.py.
$flag = getenv('TFPM_TEST_CRASH_FLAG');
if ($flag === false || file_exists($flag)) {
    usleep(50000);
    posix_kill(posix_getpid(), 9);
    sleep(10);  // the signal ends the process first
}
while (tfpm_handle_request(function () {
    echo "up ", getmypid();
})) {
}
