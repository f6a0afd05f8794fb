/* Error code table (see include/base/err.h). */
#include "base/err.h"

static const char *const err_text[] = {
#define RT_ERR_TEXT(name, text) text,
    RT_ERRORS(RT_ERR_TEXT)
#undef RT_ERR_TEXT
};

const char *rt_strerror(enum rt_err err)
{
    if ((int)err < 0 || err >= RT_ERR_COUNT)
        return "unknown error";
    return err_text[err];
}
