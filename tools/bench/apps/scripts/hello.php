<?php
// Scenario "hello": the smallest response; same body as fcgi-hello.
echo "hello world\n";
