#ifndef CLINUX_SHIM_H
#define CLINUX_SHIM_H
/* Linux calls Swift's Glibc module does not show (they need _GNU_SOURCE). */

/* renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE): fails with EEXIST instead of
   replacing an existing file, atomically. */
int tm_renameat_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/* Gives back memory an idle daemon is not using: the pages of its own program text and read-only data
   that start-up and the last burst of work touched (madvise MADV_DONTNEED on the executable's read-only
   segments: they are clean file pages, so the kernel re-reads any that are needed again from the page
   cache), and freed heap (malloc_trim). Returns the bytes of mappings released. */
long tm_release_idle_pages(void);

#endif
