/* fuzz-nut-users.c: libFuzzer harness for the upsd.users(5) parser.
 *
 * A refusal is one line naming the file; an accepted file answers every
 * permission question, and no user without a password is ever let in.
 */
#include <string.h>

#include "efp-nut-users.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const EfpNutAction actions[] = { EFP_NUT_ACTION_LOGIN, EFP_NUT_ACTION_PRIMARY,
                                        EFP_NUT_ACTION_FSD, EFP_NUT_ACTION_SET,
                                        EFP_NUT_ACTION_INSTCMD };

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpNutUsers) users =
    efp_nut_users_parse ((const gchar *) data, size, "upsd.users", &error);
  guint i;

  if (users == NULL)
    {
      if (error == NULL || strchr (error->message, '\n') != NULL ||
          !g_str_has_prefix (error->message, "upsd.users"))
        __builtin_trap ();
      return 0;
    }
  (void) efp_nut_users_count (users);
  for (i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      (void) efp_nut_users_check (users, "monuser", "secret", actions[i]);
      (void) efp_nut_users_check (users, "admin", "", actions[i]);
      if (efp_nut_users_check (users, "nobody-has-this-name", "", actions[i]))
        __builtin_trap ();
    }
  return 0;
}
