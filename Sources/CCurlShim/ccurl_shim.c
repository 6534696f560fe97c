#include "ccurl_shim.h"

CURLcode tm_easy_setopt_long(CURL *h, CURLoption opt, long value) { return curl_easy_setopt(h, opt, value); }
CURLcode tm_easy_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value) { return curl_easy_setopt(h, opt, value); }
CURLcode tm_easy_setopt_ptr(CURL *h, CURLoption opt, const void *value) { return curl_easy_setopt(h, opt, value); }
CURLcode tm_easy_setopt_io_cb(CURL *h, CURLoption opt, tm_curl_io_cb cb) { return curl_easy_setopt(h, opt, cb); }
CURLcode tm_easy_getinfo_long(CURL *h, CURLINFO info, long *out) { return curl_easy_getinfo(h, info, out); }
CURLcode tm_easy_getinfo_double(CURL *h, CURLINFO info, double *out) { return curl_easy_getinfo(h, info, out); }
CURLcode tm_easy_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *out) { return curl_easy_getinfo(h, info, out); }
CURLcode tm_easy_getinfo_string(CURL *h, CURLINFO info, const char **out) { return curl_easy_getinfo(h, info, out); }
curl_version_info_data *tm_curl_version_info(void) { return curl_version_info(CURLVERSION_NOW); }
