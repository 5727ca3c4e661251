/* A shared object that is no decoder: it lacks the query symbol. */
#include <gmodule.h>

G_MODULE_EXPORT int efp_something_else (void);
G_MODULE_EXPORT int
efp_something_else (void)
{
  return 42;
}
