#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include "clinux_shim.h"

int tm_renameat_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

/* Only the executable itself (the first object dl_iterate_phdr reports, with an empty name), and only
   segments without write permission: a writable segment holds relocated and changed data that dropping
   would lose. */
static int release_program_segments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    long *released = data;
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W)) continue;
        uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)(page - 1);
        uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(uintptr_t)(page - 1);
        if (madvise((void *)start, end - start, MADV_DONTNEED) == 0) *released += (long)(end - start);
    }
    return 1; /* stop after the executable */
}

long tm_release_idle_pages(void) {
    long released = 0;
    dl_iterate_phdr(release_program_segments, &released);
    malloc_trim(0);
    return released;
}
