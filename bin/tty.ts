/**
 * Colour and progress bars only for a person at a terminal, and never when NO_COLOR is set to
 * anything but the empty string (the NO_COLOR convention, which progress bars follow too:
 * they are cursor-moving escape sequences).
 */
export function colourAllowed(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}

export const progressAllowed = colourAllowed;
