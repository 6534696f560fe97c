// libFuzzer's entry for programs that keep their own main (compiler-rt FuzzerInterface.h). SwiftPM names an
// executable's entry point <module>_main, so each fuzz target defines that and hands control to libFuzzer.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
