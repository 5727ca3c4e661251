/* efp-group.c: pure aggregation of member readings into one virtual battery. */
#include "efp-group.h"

/* Weight of a member: its configured capacity, else the capacity its packs
 * report (mAh; only comparable between members of one family), else 1. */
static gdouble
member_weight (const EfpGroupMember *m, gboolean use_capacity)
{
  return use_capacity ? m->capacity_wh : 1.0;
}

void
efp_group_aggregate (const EfpGroupMember *members, guint n, EfpReading *out)
{
  gboolean all_capacity = TRUE;
  gdouble wsum = 0, socsum = 0, in = 0, outw = 0;
  gboolean any_in = FALSE, any_out = FALSE, any_false = FALSE, all_true = n > 0;
  gint remain = -1;
  guint i;

  efp_reading_init (out);
  g_strlcpy (out->model, "Group", sizeof (out->model));
  for (i = 0; i < n; i++)
    if (members[i].has_data && !isnan (members[i].reading->soc) && !(members[i].capacity_wh > 0))
      all_capacity = FALSE;
  for (i = 0; i < n; i++)
    {
      const EfpGroupMember *m = &members[i];
      const EfpReading *r = m->reading;
      if (!m->has_data)
        {
          all_true = FALSE;
          continue;
        }
      if (!isnan (r->soc))
        {
          gdouble w = member_weight (m, all_capacity);
          wsum += w;
          socsum += w * r->soc;
        }
      if (!isnan (r->input_watts))
        {
          in += r->input_watts;
          any_in = TRUE;
        }
      if (!isnan (r->output_watts))
        {
          outw += r->output_watts;
          any_out = TRUE;
        }
      if (r->grid_connected == EFP_TRISTATE_FALSE)
        {
          any_false = TRUE;
          if (r->remain_minutes >= 0 && (remain < 0 || r->remain_minutes < remain))
            remain = r->remain_minutes;
        }
      if (r->grid_connected != EFP_TRISTATE_TRUE)
        all_true = FALSE;
    }
  if (wsum > 0)
    out->soc = socsum / wsum;
  if (any_in)
    out->input_watts = in;
  if (any_out)
    out->output_watts = outw;
  out->grid_connected =
    any_false ? EFP_TRISTATE_FALSE : (all_true ? EFP_TRISTATE_TRUE : EFP_TRISTATE_UNKNOWN);
  out->grid_source = "group";
  out->remain_minutes = remain;
}
