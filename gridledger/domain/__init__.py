"""Value types shared by every layer: decimals, sides, statuses, instruments, client ids."""
