export { VNODE_LABELS, VNODE_TAINT } from '../ground/virtual-nodes.js';
