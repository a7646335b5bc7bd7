/** vnode's version: the CLI's --version and the tag of the images it deploys. */
export const VERSION = '0.1.0';
