/* Logging: one line per event on stderr, "<ISO-8601 UTC> <level> <module>: <message>". */
#ifndef ROLLWATCH_LOG_H
#define ROLLWATCH_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* The process-wide threshold; set once by main() before the loop runs. */
extern enum log_level log_threshold;

void log_write(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Tests the level before the arguments are evaluated. */
#define log_at(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((level) <= log_threshold) {                                                            \
            log_write((level), (module), __VA_ARGS__);                                             \
        }                                                                                          \
    } while (0)

/* Parses "error", "warn", "info", "debug", "trace". Returns 0, or -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

#endif
