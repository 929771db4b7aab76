/**
 * @vcpu-rt/vcpu: not implemented yet — see the project's open issues. This package exports nothing
 * rather than pretending to work.
 */
export {};
