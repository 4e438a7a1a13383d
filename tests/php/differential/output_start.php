<?php
// Output before any header() call, then a header: the classic warning.
echo "x";
header('X-Too-Late: 1');
