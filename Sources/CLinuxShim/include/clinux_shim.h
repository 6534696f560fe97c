#ifndef CLINUX_SHIM_H
#define CLINUX_SHIM_H
/* Linux calls Swift's Glibc module does not show (they need _GNU_SOURCE). */

/* renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE): fails with EEXIST instead of
   replacing an existing file, atomically. */
int tm_renameat_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

#endif
