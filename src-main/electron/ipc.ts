import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { TOKEN_CHANNEL } from './ipc-contract.js';

/** The origin (`http://127.0.0.1:PORT`) of the frame that sent an IPC message, or null. */
export function senderOrigin(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): string | null {
  const url = event.senderFrame?.url;
  if (!url) return null;
  try {
    const origin = new URL(url).origin;
    // Opaque origins (data:, file:, about:blank) serialise as the string "null".
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/**
 * Answer the token channel, but only for frames loaded from the embedded server (VS Code's
 * validatedIpcMain idea): a page that got into a window some other way (a redirect, an injected
 * iframe) gets a refusal, never the token. Returns a function that removes the handler.
 */
export function registerTokenHandler(ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>, opts: { origin: string; token: string }): () => void {
  const allowed = new URL(opts.origin).origin;
  ipcMain.handle(TOKEN_CHANNEL, (event) => {
    const origin = senderOrigin(event);
    if (origin !== allowed) throw new Error(`refused: ${TOKEN_CHANNEL} from ${origin ?? 'an unknown origin'}`);
    return opts.token;
  });
  return () => ipcMain.removeHandler(TOKEN_CHANNEL);
}
