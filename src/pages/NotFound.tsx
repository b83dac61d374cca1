import { Link } from "../lib/router";
import { EmptyState, PageHeader } from "../ui/kit";

export function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState title="There's nothing at this address." action={<Link to="/">Go to the overview</Link>} />
    </>
  );
}
