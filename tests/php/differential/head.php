<?php
header('X-Head: 1');
echo "a body that HEAD must not send\n";
