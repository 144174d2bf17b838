/* The logger service: a C service that writes log lines (SKY_TEXT mail,
 * level in type_id) to stderr or a file. */
#ifndef SKY__LOG_H
#define SKY__LOG_H

#include "sky/service.h"

/* init args: a file path to append to, or "" for stderr. */
extern const sky_module sky__logger_module;

/* Formats one line as the logger writes it, for direct stderr fallback:
 * "2026-11-22 04:12:00.123 [node:serial] WARN text\n". Returns length. */
int sky__log_format(char *buf, size_t size, sky_addr_t source, int level, const char *text);

#endif
