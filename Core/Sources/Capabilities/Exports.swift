// The capability rules speak the ABI's types (capability types, rights, addresses,
// statuses); whoever uses the rules uses those too.
@_exported import ABI
