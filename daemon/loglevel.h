/*
 * loglevel.h: the severities of crdbfeedd's log lines, shared by the
 * configuration (log_level) and the logger without either including the
 * other.
 */
#ifndef CRDBFEEDD_LOGLEVEL_H
#define CRDBFEEDD_LOGLEVEL_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_NOTICE,
		 LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

#endif /* CRDBFEEDD_LOGLEVEL_H */
