/* Mailbox entries and their payloads. */
#include <stdlib.h>
#include <string.h>
#include "core/mail.h"
#include "sky/alloc.h"

static void fill(sky__mail *m, int kind, uint32_t type_id, size_t size)
{
    m->source = SKY_ADDR_NONE;
    m->session = 0;
    m->kind = (uint8_t)kind;
    m->type_id = type_id;
    m->size = (uint32_t)size;
}

void sky__mail_own(sky__mail *m, int kind, uint32_t type_id, void *data, size_t size)
{
    fill(m, kind, type_id, size);
    m->inl = size <= SKY__INLINE;
    if (m->inl) {
        if (size) memcpy(m->p.buf, data, size);
        free(data);
    } else {
        m->p.ptr = data;
    }
}

void sky__mail_copy(sky__mail *m, int kind, uint32_t type_id, const void *data, size_t size)
{
    fill(m, kind, type_id, size);
    m->inl = size <= SKY__INLINE;
    if (m->inl) {
        if (size) memcpy(m->p.buf, data, size);
    } else {
        m->p.ptr = memcpy(sky_malloc(size), data, size);
    }
}

void sky__mail_free(sky__mail *m)
{
    if (!m->inl) free(m->p.ptr);
    m->inl = 1;
    m->size = 0;
}

void *sky__mail_take(sky__mail *m)
{
    void *p;
    if (m->size == 0) return NULL;
    if (m->inl) {
        p = memcpy(sky_malloc(m->size), m->p.buf, m->size);
    } else {
        p = m->p.ptr;
    }
    m->inl = 1;
    m->size = 0;
    return p;
}
