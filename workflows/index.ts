/** Every workflow the worker registers (the bundle's entry point). */
export { inspect } from './inspect';
