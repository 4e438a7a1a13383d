// tfpm-worker: the PHP-running process role. Started by the tfpm supervisor.
#include "worker/worker_main.h"

int main(int argc, char** argv) { return tfpm::worker::WorkerMain(argc, argv); }
