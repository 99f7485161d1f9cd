package bench

// ProcessCPU returns the CPU time (user+system, seconds) process pid has used, from /proc/PID/stat
// (Linux). The web-app harness reads the message brokers' CPU with it.
func ProcessCPU(pid int) (float64, error) { return processCPU(pid) }
