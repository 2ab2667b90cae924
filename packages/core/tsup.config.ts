import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tools/tsup/config';

export default defineConfig(createTsupConfig());
