// Error texts shared by the dispatcher (client.ts) and the services that answer for it (the
// blocked-client serve path), kept in a leaf module so that neither imports the other for them.
export const E_OOM = "OOM command not allowed when used memory > 'maxmemory'.";
