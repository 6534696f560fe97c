#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and friends are variadic, which Swift cannot call: one typed wrapper per argument kind. */
typedef size_t (*tm_curl_io_cb)(char *buffer, size_t size, size_t nitems, void *userdata);

CURLcode tm_easy_setopt_long(CURL *h, CURLoption opt, long value);
CURLcode tm_easy_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value);
CURLcode tm_easy_setopt_ptr(CURL *h, CURLoption opt, const void *value);
CURLcode tm_easy_setopt_io_cb(CURL *h, CURLoption opt, tm_curl_io_cb cb);
CURLcode tm_easy_getinfo_long(CURL *h, CURLINFO info, long *out);
CURLcode tm_easy_getinfo_double(CURL *h, CURLINFO info, double *out);
CURLcode tm_easy_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *out);
CURLcode tm_easy_getinfo_string(CURL *h, CURLINFO info, const char **out);
/* CURLVERSION_NOW is a macro Swift cannot import. */
curl_version_info_data *tm_curl_version_info(void);
#endif
