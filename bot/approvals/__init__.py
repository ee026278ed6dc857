"""Four eyes (EXALATE_APPROVERS): a connection's invitation waits for an approver."""
